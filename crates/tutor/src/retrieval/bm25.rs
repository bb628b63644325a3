//! Lexical retrieval: BM25 over lesson chunks with tantivy and English
//! stemming. Every search is filtered to one course and to the stages the
//! student may see, inside the query itself. The index lives in a folder
//! (memory-mapped) or in memory, and changes lesson by lesson.

use std::collections::BTreeSet;
use std::path::Path;

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

const TOKENIZER: &str = "en_stem_stop";

/// How much more a question's word counts in a section's title than in its text.
const TITLE_BOOST: f32 = 1.5;

/// Lower-cased, English stop words removed, Porter-stemmed. The ranking
/// analyses questions with the same analyzer, so its terms are the index's.
pub fn english() -> TextAnalyzer {
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

/// A query for one term, without its positions.
fn term(t: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(t, IndexRecordOption::Basic))
}

/// A search hit: its BM25 score and the passage.
pub type Hit = (f32, Passage);

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

impl IndexError {
    pub fn new(reason: impl Into<String>) -> Self {
        IndexError(reason.into())
    }
}

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        IndexError(e.to_string())
    }
}

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    lesson_id: Field,
    course_id: Field,
    stage: Field,
    title: Field,
    url: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
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
    (sb.build(), f)
}

/// The one indexing budget of a process: tantivy's minimum for one thread.
/// Large builds close segments at this size and merge them; memory stays flat.
pub const WRITER_BUDGET: usize = 15_000_000;

/// Passages indexed for BM25. The passage text lives once, in the index's
/// document store (on disk, memory-mapped, when the index has a folder).
pub struct Bm25 {
    index: Index,
    reader: IndexReader,
    writer: std::sync::Mutex<Option<IndexWriter>>,
    f: Fields,
}

impl Bm25 {
    /// An index in memory holding exactly `passages` (evaluation, benchmarks).
    pub fn build(passages: &[Passage]) -> Result<Self, IndexError> {
        let (schema, _) = schema();
        let idx = Self::wrap(Index::create_in_ram(schema))?;
        idx.replace_lessons(&[], passages, None)?;
        Ok(idx)
    }

    /// The index kept in `dir`, opened as it was left (with the payload of
    /// its last commit) or created empty. An index written with another
    /// schema is an error: the caller clears the folder and builds again.
    pub fn open_dir(dir: &Path) -> Result<(Self, Option<String>), IndexError> {
        let (schema, _) = schema();
        let mmap = MmapDirectory::open(dir).map_err(|e| IndexError(e.to_string()))?;
        let index = Index::open_or_create(mmap, schema)?;
        let payload = index.load_metas()?.payload;
        Ok((Self::wrap(index)?, payload))
    }

    fn wrap(index: Index) -> Result<Self, IndexError> {
        index.tokenizers().register(TOKENIZER, english());
        let (_, f) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Bm25 {
            index,
            reader,
            writer: std::sync::Mutex::new(None),
            f,
        })
    }

    fn add(&self, w: &IndexWriter, p: &Passage) -> Result<(), IndexError> {
        let f = self.f;
        w.add_document(doc!(
            f.chunk_id => p.chunk_id.clone(),
            f.lesson_id => p.lesson_id.clone(),
            f.course_id => p.course_id.clone(),
            f.stage => p.stage_position,
            f.title => p.title.clone(),
            f.url => p.url.clone(),
            f.text => p.text.clone(),
        ))?;
        Ok(())
    }

    /// Runs `f` with the index's one writer, created on first use.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| IndexError("the index writer was poisoned".into()))?;
        if guard.is_none() {
            *guard = Some(self.index.writer_with_num_threads(1, WRITER_BUDGET)?);
        }
        let w = guard
            .as_mut()
            .ok_or_else(|| IndexError("no index writer".into()))?;
        let out = f(w);
        if out.is_err() {
            // Whatever was staged is dropped; the index stays at its last commit.
            let _ = w.rollback();
        }
        out
    }

    fn commit(&self, w: &mut IndexWriter, payload: Option<&str>) -> Result<(), IndexError> {
        let mut prepared = w.prepare_commit()?;
        if let Some(p) = payload {
            prepared.set_payload(p);
        }
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Replaces every passage with those of `batches`, in one commit:
    /// searches see the old contents until it is done.
    pub fn rebuild<I>(&self, batches: I, payload: Option<&str>) -> Result<u64, IndexError>
    where
        I: IntoIterator<Item = Result<Vec<Passage>, IndexError>>,
    {
        self.with_writer(|w| {
            w.delete_all_documents()?;
            let mut n = 0u64;
            for batch in batches {
                for p in batch? {
                    self.add(w, &p)?;
                    n += 1;
                }
            }
            self.commit(w, payload)?;
            Ok(n)
        })
    }

    /// Makes the passages of `lessons` exactly those of `passages` (none for
    /// a deleted lesson), leaving every other lesson alone, in one commit.
    pub fn replace_lessons(
        &self,
        lessons: &[String],
        passages: &[Passage],
        payload: Option<&str>,
    ) -> Result<(), IndexError> {
        self.with_writer(|w| {
            for l in lessons {
                w.delete_term(Term::from_field_text(self.f.lesson_id, l));
            }
            for p in passages {
                self.add(w, p)?;
            }
            self.commit(w, payload)
        })
    }

    /// Passages in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn passage(&self, d: &TantivyDocument) -> Passage {
        let text = |f: Field| {
            d.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
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
        }
    }

    /// Every passage, read from the document store (dense indexing).
    pub fn all_passages(&self) -> Result<Vec<Passage>, IndexError> {
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for seg in searcher.segment_readers() {
            let store = seg
                .get_store_reader(1)
                .map_err(|e| IndexError(e.to_string()))?;
            for d in store.iter::<TantivyDocument>(seg.alive_bitset()) {
                out.push(self.passage(&d?));
            }
        }
        Ok(out)
    }

    /// Every passage of one lesson.
    pub fn lesson_passages(&self, lesson_id: &str) -> Result<Vec<Passage>, IndexError> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.f.lesson_id, lesson_id),
            IndexRecordOption::Basic,
        );
        let mut out = Vec::new();
        for (_, addr) in searcher.search(&q, &TopDocs::with_limit(1_000))? {
            let d: TantivyDocument = searcher.doc(addr)?;
            out.push(self.passage(&d));
        }
        Ok(out)
    }

    /// The passages with these chunk ids, in that order (those that exist).
    pub fn by_chunk_ids(&self, ids: &[String]) -> Result<Vec<Passage>, IndexError> {
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for id in ids {
            let q = TermQuery::new(
                Term::from_field_text(self.f.chunk_id, id),
                IndexRecordOption::Basic,
            );
            if let Some((_, addr)) = searcher.search(&q, &TopDocs::with_limit(1))?.first() {
                let d: TantivyDocument = searcher.doc(*addr)?;
                out.push(self.passage(&d));
            }
        }
        Ok(out)
    }

    /// How many passages `course_id` has, and how many of them hold each of
    /// `terms` (already analysed) in their title or text: the ranking's
    /// document frequencies, counted from the postings, so their cost does
    /// not grow with the passages' text and is current after every edit.
    pub fn doc_freqs(
        &self,
        course_id: &str,
        terms: &[String],
    ) -> Result<(u32, Vec<u32>), IndexError> {
        let searcher = self.reader.searcher();
        let count = |q: &dyn Query| -> Result<u32, IndexError> {
            Ok(u32::try_from(searcher.search(q, &Count)?).unwrap_or(u32::MAX))
        };
        let (docs, filter) = self.course_filter(&searcher, course_id)?;
        let mut out = Vec::with_capacity(terms.len());
        for t in terms {
            let either = BooleanQuery::new(vec![
                (Occur::Should, term(Term::from_field_text(self.f.title, t))),
                (Occur::Should, term(Term::from_field_text(self.f.text, t))),
            ]);
            let n = match &filter {
                None => count(&either)?,
                Some(course) => count(&BooleanQuery::new(vec![
                    (Occur::Must, course.box_clone()),
                    (Occur::Must, Box::new(either)),
                ]))?,
            };
            out.push(n);
        }
        let docs = u32::try_from(docs).unwrap_or(u32::MAX);
        Ok((docs, out))
    }

    /// The best `k` passages for `query` within `course_id` and `stages`.
    pub fn search(
        &self,
        query: &str,
        course_id: &str,
        stages: &[u64],
        k: usize,
    ) -> Result<Vec<(f32, Passage)>, IndexError> {
        if stages.is_empty() {
            return Ok(Vec::new());
        }
        self.search_in(query, course_id, Some(stages), k)
    }

    /// A turn's two searches, from one query when it answers both: the
    /// best `k` passages of the open `stages`, and the best `any` of every
    /// stage of `course_id`, locked ones included (callers decide what may
    /// be shown). The stage filters do not score, so the open
    /// stages' ranking is the wider one with the locked passages left out.
    pub fn search_open_and_any(
        &self,
        query: &str,
        course_id: &str,
        stages: &[u64],
        k: usize,
        any: usize,
    ) -> Result<(Vec<Hit>, Vec<Hit>), IndexError> {
        let wide_k = any.max(k);
        let mut wide = self.search_in(query, course_id, None, wide_k)?;
        let open: Vec<Hit> = wide
            .iter()
            .filter(|(_, p)| stages.contains(&p.stage_position))
            .take(k)
            .cloned()
            .collect();
        // Enough open passages among the wider hits, or the wider hits are
        // every match: nothing further down could be an open one's better.
        let open = if open.len() == k || wide.len() < wide_k {
            open
        } else {
            self.search(query, course_id, stages, k)?
        };
        wide.truncate(any);
        Ok((open, wide))
    }

    /// Keeps a query to one course without scoring: the filter says where
    /// to look, never how well a passage matches.
    fn course_query(&self, course_id: &str) -> Box<dyn Query> {
        Box::new(ConstScoreQuery::new(
            term(Term::from_field_text(self.f.course_id, course_id)),
            0.0,
        ))
    }

    /// How many passages `course_id` has, and the clause that keeps a query
    /// to it: none when the course is the whole index, where it would only
    /// cost.
    fn course_filter(
        &self,
        searcher: &tantivy::Searcher,
        course_id: &str,
    ) -> Result<(u64, Option<Box<dyn Query>>), IndexError> {
        let course = self.course_query(course_id);
        let docs = searcher.search(course.as_ref(), &Count)? as u64;
        Ok((docs, (docs != searcher.num_docs()).then_some(course)))
    }

    /// Every stage position the index's terms hold, in any course (a
    /// deleted passage's stage may linger until its segment is merged, which
    /// only adds a clause that excludes nothing).
    fn stage_values(&self, searcher: &tantivy::Searcher) -> Result<BTreeSet<u64>, IndexError> {
        let mut out = BTreeSet::new();
        for seg in searcher.segment_readers() {
            let inverted = seg.inverted_index(self.f.stage)?;
            let mut terms = inverted
                .terms()
                .stream()
                .map_err(|e| IndexError(e.to_string()))?;
            while terms.advance() {
                // Fails closed: a stage it cannot read could not be excluded.
                let bytes = <[u8; 8]>::try_from(terms.key())
                    .map_err(|_| IndexError("a stage term is not a u64".into()))?;
                out.insert(u64::from_be_bytes(bytes));
            }
        }
        Ok(out)
    }

    /// The question's words as one flat disjunction of (field, term)
    /// clauses, the title's boosted: the sum of their BM25 scores. Flat, so
    /// tantivy answers the top k with block-max WAND, skipping the blocks
    /// that cannot reach it, instead of scoring every passage holding a
    /// common word. User text is not query syntax: operators, quotes and
    /// field names are words like the rest. `None` when no word is left.
    fn words_query(&self, query: &str) -> Option<Box<dyn Query>> {
        let scored = |f: Field, w: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(f, w),
                IndexRecordOption::WithFreqs,
            ))
        };
        let mut analyzer = english();
        let mut stream = analyzer.token_stream(query);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        while stream.advance() {
            let w = &stream.token().text;
            clauses.push((Occur::Should, scored(self.f.text, w)));
            let title = BoostQuery::new(scored(self.f.title, w), TITLE_BOOST);
            clauses.push((Occur::Should, Box::new(title)));
        }
        (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
    }

    fn search_in(
        &self,
        query: &str,
        course_id: &str,
        stages: Option<&[u64]>,
        k: usize,
    ) -> Result<Vec<(f32, Passage)>, IndexError> {
        let Some(text_query) = self.words_query(query) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let stage = |s: u64| term(Term::from_field_u64(self.f.stage, s));
        // A query left with its words alone is a plain disjunction, which
        // tantivy answers by skipping blocks that cannot reach the top k.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let (_, Some(course)) = self.course_filter(&searcher, course_id)? {
            clauses.push((Occur::Must, course));
        }
        if let Some(open) = stages {
            // Whichever list is shorter: the open stages, or the stages the
            // index holds that are not open (none when everything is open,
            // which spares a staff member's search a union over every stage).
            let locked: Vec<u64> = self
                .stage_values(&searcher)?
                .into_iter()
                .filter(|s| !open.contains(s))
                .collect();
            if locked.len() < open.len() {
                clauses.extend(locked.into_iter().map(|s| (Occur::MustNot, stage(s))));
            } else {
                let any_open = open.iter().map(|s| (Occur::Should, stage(*s))).collect();
                // Unscored, like the course: a small stage is no better a match.
                let any_open = ConstScoreQuery::new(Box::new(BooleanQuery::new(any_open)), 0.0);
                clauses.push((Occur::Must, Box::new(any_open)));
            }
        }
        let q: Box<dyn Query> = if clauses.is_empty() {
            text_query
        } else {
            clauses.push((Occur::Must, text_query));
            Box::new(BooleanQuery::new(clauses))
        };
        let top = searcher.search(q.as_ref(), &TopDocs::with_limit(k))?;
        let mut out = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            out.push((score, self.passage(&d)));
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
        // Three stages, two open: the locked one is excluded instead.
        let three = Bm25::build(&[
            p("g", 1, "Gyroscopes", "A gyroscope drifts."),
            p(
                "h",
                2,
                "Hover",
                "A drone hovers when thrust equals weight; gyroscope too.",
            ),
            p(
                "k",
                3,
                "Kinematics",
                "Joint angles, and a gyroscope on the arm.",
            ),
        ])
        .unwrap();
        let stages_of = |open: &[u64]| -> Vec<u64> {
            let mut s: Vec<u64> = three
                .search("gyroscope", "c", open, 5)
                .unwrap()
                .into_iter()
                .map(|(_, p)| p.stage_position)
                .collect();
            s.sort();
            s
        };
        assert_eq!(stages_of(&[1, 2]), vec![1, 2], "stage 3 is locked");
        assert_eq!(stages_of(&[1, 3]), vec![1, 3], "stage 2 is locked");
        assert_eq!(stages_of(&[2]), vec![2]);
        assert_eq!(stages_of(&[1, 2, 3]), vec![1, 2, 3]);
        assert_eq!(stages_of(&[1, 2, 3, 9]), vec![1, 2, 3]);
        assert!(
            idx.search("tuning", "other-course", &[1, 2], 5)
                .unwrap()
                .is_empty()
        );
        assert!(
            idx.search("AND OR (( \"", "c", &[1], 5).is_ok(),
            "query syntax in user text is harmless"
        );
        // … and means nothing: a dash, a field name or NOT are not operators.
        for q in [
            "-gyroscopes",
            "title:gyroscope",
            "NOT gyroscopes",
            "\"gyroscope",
        ] {
            let hits = idx.search(q, "c", &[1], 5).unwrap();
            assert_eq!(
                hits.first().map(|h| h.1.chunk_id.as_str()),
                Some("a"),
                "{q}"
            );
        }
        assert!(idx.search("the and of", "c", &[1], 5).unwrap().is_empty());
    }

    #[test]
    fn a_folder_index_replaces_one_lesson_and_reopens_with_its_payload() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = p(
            "a1",
            1,
            "Gyroscopes",
            "A gyroscope measures angular velocity.",
        );
        a.lesson_id = "la".into();
        let mut b = p("b1", 1, "Encoders", "Encoders count wheel ticks.");
        b.lesson_id = "lb".into();
        {
            let (idx, payload) = Bm25::open_dir(dir.path()).unwrap();
            assert!(payload.is_none());
            idx.rebuild(vec![Ok(vec![a.clone(), b.clone()])], Some("v1"))
                .unwrap();
            assert_eq!(idx.len(), 2);
            let mut a2 = p(
                "a2",
                1,
                "Gyroscopes",
                "A gyroscope drifts without correction.",
            );
            a2.lesson_id = "la".into();
            idx.replace_lessons(&["la".into()], &[a2], Some("v2"))
                .unwrap();
            let hits = idx.search("gyroscope", "c", &[1], 5).unwrap();
            assert_eq!(hits.len(), 1);
            assert_eq!(hits[0].1.chunk_id, "a2", "the old passage is gone");
            // A deleted lesson: no passages left.
            idx.replace_lessons(&["lb".into()], &[], Some("v3"))
                .unwrap();
            assert!(idx.search("encoders", "c", &[1], 5).unwrap().is_empty());
        }
        let (idx, payload) = Bm25::open_dir(dir.path()).unwrap();
        assert_eq!(payload.as_deref(), Some("v3"));
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.all_passages().unwrap()[0].chunk_id, "a2");
        assert_eq!(
            idx.by_chunk_ids(&["a2".into(), "zz".into()]).unwrap().len(),
            1
        );
    }

    #[test]
    fn one_query_serves_both_searches_with_the_filtered_ranking() {
        // Two courses and stages of different sizes: were the filters to
        // score, a passage of a small stage would rank above its equal.
        let mut all = Vec::new();
        let words = ["gyroscope drift", "gyroscope", "gyroscope bias and drift"];
        for stage in 1..=4u64 {
            for n in 0..(stage * 3) {
                let text = format!("{} in lesson {n}.", words[(n % 3) as usize]);
                all.push(p(&format!("s{stage}-{n}"), stage, "Sensors", &text));
            }
        }
        let mut other = p("o1", 1, "Sensors", "gyroscope drift");
        other.course_id = "d".into();
        all.push(other);
        let idx = Bm25::build(&all).unwrap();
        let ids = |hits: &[(f32, Passage)]| -> Vec<(String, u32)> {
            hits.iter()
                .map(|(s, p)| (p.chunk_id.clone(), (s * 1000.0).round() as u32))
                .collect()
        };
        for open in [&[][..], &[1], &[4], &[1, 2], &[1, 2, 3], &[1, 2, 3, 4]] {
            for k in [1, 3, 8, 40] {
                let (o, wide) = idx
                    .search_open_and_any("gyroscope drift", "c", open, k, 5)
                    .unwrap();
                let alone = idx.search("gyroscope drift", "c", open, k).unwrap();
                assert_eq!(ids(&o), ids(&alone), "open {open:?}, k {k}");
                assert!(o.iter().all(|(_, p)| open.contains(&p.stage_position)));
                let every = idx
                    .search("gyroscope drift", "c", &[1, 2, 3, 4], 5)
                    .unwrap();
                assert_eq!(ids(&wide), ids(&every), "every stage, open {open:?}");
                assert!(wide.iter().all(|(_, p)| p.course_id == "c"));
            }
        }
    }
}
