-- A replayed code is marked, so that a redemption racing with the replay (its tokens committed a
-- moment after the replay revoked the grant) sees the mark and revokes its own tokens too.
ALTER TABLE codes ADD COLUMN replayed_at BIGINT;
