-- An archived alert is about 1.4 KiB of JSON, kept twice (payload as jsonb and
-- raw_payload as text). Together they pass the row size (about 2 kB) above which
-- PostgreSQL compresses long values, so it compresses both columns of nearly every
-- row. With its default method, pglz, that
-- compression took about a sixth of the database's CPU time while the bridges
-- archived at full speed (perf, bench/run scenario 3). lz4, the other built-in
-- method, is faster at a similar size. Rows already stored keep pglz, and both
-- methods read back the same.
--
-- A PostgreSQL built without lz4 rejects the method, and the columns then keep pglz.
DO $$
BEGIN
    ALTER TABLE alerts
        ALTER COLUMN payload SET COMPRESSION lz4,
        ALTER COLUMN raw_payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available; alerts keep the pglz compression';
END;
$$;
