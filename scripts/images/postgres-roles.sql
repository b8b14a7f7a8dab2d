-- The database's roles and privileges, applied by a superuser on every start (postgres-entrypoint.sh) and by
-- the fast suite (tests/servers.py); every statement is idempotent, so it also upgrades an older volume.
--
--   psql -v dbname=DB -v owner_role=OWNER -v app_role=APP \
--        -v owner_password_file=FILE -v app_password_file=FILE -f postgres-roles.sql postgres
--
-- OWNER: owns the database and every object in schema public; migrations connect as it. Not a superuser,
--        cannot create roles or databases. pg_trgm is a trusted extension (PostgreSQL 13+), so the database
--        owner creates it in migration 0001 (CREATE EXTENSION IF NOT EXISTS) without a superuser.
-- APP:   what the apps (Django, Celery, FastAPI) connect as: owns nothing, may only read and write rows
--        (SELECT, INSERT, UPDATE, DELETE on tables, USAGE and SELECT on sequences), including on the tables
--        later migrations create (ALTER DEFAULT PRIVILEGES FOR ROLE OWNER). No TRUNCATE: it takes an
--        ACCESS EXCLUSIVE lock that would stall every search, and DELETE does the same job
--        (seed_parts --clear uses DELETE).
-- Values only ever reach SQL as psql variables (:'literal', :"identifier"), never pasted. The caller checks
-- that both password files are non-empty and that OWNER and APP differ.
\set ON_ERROR_STOP on
\set QUIET on
-- A statement that fails is not copied into the server log, so a password can never end up there.
SET log_min_error_statement = panic;
SET log_statement = 'none';

\set owner_password `cat :'owner_password_file'`
\set app_password `cat :'app_password_file'`

-- ROLES: created when missing; attributes and passwords set on every run (a new secret rotates a password).
SELECT format('CREATE ROLE %I', name)
FROM (VALUES (:'owner_role'), (:'app_role')) AS wanted(name)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted.name) \gexec
ALTER ROLE :"owner_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';
ALTER ROLE :"app_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
-- Neither role may act as the other or as anybody else.
SELECT format('REVOKE %I FROM %I', r.rolname, m.rolname)
FROM pg_auth_members am
JOIN pg_roles r ON r.oid = am.roleid
JOIN pg_roles m ON m.oid = am.member
WHERE m.rolname IN (:'owner_role', :'app_role') \gexec
-- Superusers log in through the local socket only (pg_hba.conf); without a password they could not log
-- in over the network even if pg_hba.conf let them try.
SELECT format('ALTER ROLE %I PASSWORD NULL', rolname) FROM pg_authid WHERE rolsuper AND rolpassword IS NOT NULL \gexec

-- DATABASE: created when missing, owned by OWNER; only the two roles may connect to it.
SELECT format('CREATE DATABASE %I OWNER %I', :'dbname', :'owner_role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'dbname', :'owner_role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'dbname') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'dbname', :'app_role') \gexec

\connect :"dbname"
SET log_min_error_statement = panic;
SET log_statement = 'none';

-- SCHEMA public: OWNER creates in it, APP may only use what is there.
ALTER SCHEMA public OWNER TO :"owner_role";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app_role";

-- OWNERSHIP: every object in public belongs to OWNER. A volume from before the role split has its tables
-- owned by the login the apps used then; this hands them over (tables first: their indexes and the
-- sequences of their columns follow them). Objects of extensions stay where CREATE EXTENSION put them.
SELECT format('ALTER %s %s OWNER TO %I',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                             ELSE 'TABLE' END,
              c.oid::regclass, :'owner_role')
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner_role')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.oid \gexec
SELECT format('ALTER SEQUENCE %s OWNER TO %I', c.oid::regclass, :'owner_role')
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind = 'S'
  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner_role')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.oid \gexec
SELECT format('ALTER STATISTICS %I.%I OWNER TO %I', 'public', s.stxname, :'owner_role')
FROM pg_statistic_ext s
WHERE s.stxnamespace = 'public'::regnamespace AND s.stxowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner_role') \gexec

-- PRIVILEGES of APP: rows only, on what exists now and on what OWNER creates later.
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA public FROM :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner_role" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner_role" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
