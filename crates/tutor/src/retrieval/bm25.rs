//! Lexical retrieval: BM25 over lesson chunks with tantivy and English
//! stemming. Every search is filtered to one course and to the stages the
//! student may see, inside the query itself.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

const TOKENIZER: &str = "en_stem_stop";

/// Lower-cased, English stop words removed, Porter-stemmed.
fn english() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(
            StopWordFilter::new(Language::English)
                .unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new())),
        )
        .filter(Stemmer::new(Language::English))
        .build()
}

/// A chunk as retrieval knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub chunk_id: String,
    pub lesson_id: String,
    pub course_id: String,
    pub stage_position: u64,
    /// "Lesson › Section".
    pub title: String,
    /// Where a citation links: the lesson page and the section's anchor.
    pub url: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("search index error: {0}")]
pub struct IndexError(String);

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        IndexError(e.to_string())
    }
}

struct Fields {
    chunk_id: Field,
    lesson_id: Field,
    course_id: Field,
    stage: Field,
    title: Field,
    url: Field,
    text: Field,
}

pub struct Bm25 {
    index: Index,
    reader: IndexReader,
    f: Fields,
}

impl Bm25 {
    pub fn build(passages: &[Passage]) -> Result<Self, IndexError> {
        let mut sb = Schema::builder();
        let stemmed = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            .set_stored();
        let f = Fields {
            chunk_id: sb.add_text_field("chunk_id", STRING | STORED),
            lesson_id: sb.add_text_field("lesson_id", STRING | STORED),
            course_id: sb.add_text_field("course_id", STRING | STORED),
            stage: sb.add_u64_field("stage", INDEXED | STORED),
            title: sb.add_text_field("title", stemmed.clone()),
            url: sb.add_text_field("url", STORED),
            text: sb.add_text_field("text", stemmed),
        };
        let index = Index::create_in_ram(sb.build());
        index.tokenizers().register(TOKENIZER, english());
        let mut writer = index.writer_with_num_threads(1, 20_000_000)?;
        for p in passages {
            writer.add_document(doc!(
                f.chunk_id => p.chunk_id.clone(),
                f.lesson_id => p.lesson_id.clone(),
                f.course_id => p.course_id.clone(),
                f.stage => p.stage_position,
                f.title => p.title.clone(),
                f.url => p.url.clone(),
                f.text => p.text.clone(),
            ))?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(Bm25 { index, reader, f })
    }

    /// The best `k` passages for `query` within `course_id` and `stages`.
    pub fn search(
        &self,
        query: &str,
        course_id: &str,
        stages: &[u64],
        k: usize,
    ) -> Result<Vec<(f32, Passage)>, IndexError> {
        if stages.is_empty() || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut parser = QueryParser::for_index(&self.index, vec![self.f.text, self.f.title]);
        parser.set_field_boost(self.f.title, 1.5);
        // User text is not query syntax: errors are ignored, terms kept.
        let (text_query, _errors) = parser.parse_query_lenient(query);
        let stage_filter: Vec<(Occur, Box<dyn Query>)> = stages
            .iter()
            .map(|s| {
                (
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_u64(self.f.stage, *s),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                )
            })
            .collect();
        let q = BooleanQuery::new(vec![
            (Occur::Must, text_query),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.course_id, course_id),
                    IndexRecordOption::Basic,
                )),
            ),
            (Occur::Must, Box::new(BooleanQuery::new(stage_filter))),
        ]);
        let searcher = self.reader.searcher();
        let top = searcher.search(&q, &TopDocs::with_limit(k))?;
        let mut out = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let text = |f: Field| {
                d.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            out.push((
                score,
                Passage {
                    chunk_id: text(self.f.chunk_id),
                    lesson_id: text(self.f.lesson_id),
                    course_id: text(self.f.course_id),
                    stage_position: d
                        .get_first(self.f.stage)
                        .and_then(|v| v.as_u64())
                        .unwrap_or_default(),
                    title: text(self.f.title),
                    url: text(self.f.url),
                    text: text(self.f.text),
                },
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, stage: u64, title: &str, text: &str) -> Passage {
        Passage {
            chunk_id: id.into(),
            lesson_id: "l".into(),
            course_id: "c".into(),
            stage_position: stage,
            title: title.into(),
            url: format!("/learn/s/l#{id}"),
            text: text.into(),
        }
    }

    #[test]
    fn stems_and_respects_the_stage_filter() {
        let idx = Bm25::build(&[
            p(
                "a",
                1,
                "Gyroscopes",
                "A gyroscope measures angular velocity; integrating it drifts.",
            ),
            p(
                "b",
                2,
                "PID tuning",
                "Tuning the proportional gain changes how a controller responds.",
            ),
            p(
                "c",
                1,
                "Encoders",
                "Encoders count wheel ticks to estimate distance travelled.",
            ),
        ])
        .unwrap();
        let hits = idx
            .search("how do gyroscopes measure rotation", "c", &[1], 5)
            .unwrap();
        assert_eq!(
            hits[0].1.chunk_id, "a",
            "stemming matches gyroscopes/gyroscope"
        );
        let hits = idx.search("tuning controllers", "c", &[1], 5).unwrap();
        assert!(
            hits.iter().all(|(_, p)| p.stage_position == 1),
            "stage 2 never appears when locked"
        );
        let hits = idx.search("tuning controllers", "c", &[1, 2], 5).unwrap();
        assert_eq!(hits[0].1.chunk_id, "b");
        assert!(
            idx.search("tuning", "other-course", &[1, 2], 5)
                .unwrap()
                .is_empty()
        );
        assert!(
            idx.search("AND OR (( \"", "c", &[1], 5).is_ok(),
            "query syntax in user text is harmless"
        );
    }
}
