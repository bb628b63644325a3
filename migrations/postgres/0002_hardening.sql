-- Item positions come from a counter on the thread row, taken under that
-- row's lock, instead of MAX(seq) + 1 with retries.
ALTER TABLE chatkit_thread ADD COLUMN item_seq BIGINT NOT NULL DEFAULT 0;
UPDATE chatkit_thread SET item_seq = COALESCE(
    (SELECT MAX(i.seq) FROM chatkit_thread_item i WHERE i.thread_id = chatkit_thread.id), 0);

-- Sign-in attempts whose password is being verified right now: counted
-- before verification so concurrent guesses cannot exceed the limit.
ALTER TABLE login_lockout ADD COLUMN in_flight BIGINT NOT NULL DEFAULT 0;
-- The attempt that engaged the current lock, so exactly one request reports
-- it (audit entry, notice to the owner).
ALTER TABLE login_lockout ADD COLUMN lock_attempt TEXT;
