-- A grant's id is its own, time-ordered value (`verity_core::secret::new_ordered_id`), kept with
-- its code, no longer the code's digest: every token row carries it in the `tokens_grant` index,
-- and a random value put each new token on a random page of that index, which in a big table is
-- a page not written recently (BENCHMARKS.md, "Growth"). Codes issued before keep their digest as
-- their grant's id, which their tokens already carry.
-- SQLite cannot drop a column's default once added, and a default id would make one grant of
-- every code written without one: the column has none (such a code reads as corrupt).
ALTER TABLE codes ADD COLUMN grant_id TEXT;
UPDATE codes SET grant_id = code_hash;
