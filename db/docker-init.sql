-- Runs once, when the Postgres volume is first initialised (mounted into /docker-entrypoint-initdb.d).
-- Temporal's own databases (temporal, temporal_visibility) are created by the temporal-schema job;
-- the order engine gets its own role and database on the same server.
CREATE ROLE orders LOGIN PASSWORD 'orders';
CREATE DATABASE orders OWNER orders;
