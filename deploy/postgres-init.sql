-- One database and one login per service: a service can read and write only its own tables.
-- Passwords are set out of band (ALTER ROLE … PASSWORD …) and given to each service in its
-- YIDI_DATABASE URL.
CREATE ROLE yidi_hub LOGIN;               CREATE DATABASE yidi_hub OWNER yidi_hub;
CREATE ROLE yidi_agency_north LOGIN;      CREATE DATABASE yidi_agency_north OWNER yidi_agency_north;
CREATE ROLE yidi_agency_south LOGIN;      CREATE DATABASE yidi_agency_south OWNER yidi_agency_south;
CREATE ROLE yidi_exchange_440000 LOGIN;   CREATE DATABASE yidi_exchange_440000 OWNER yidi_exchange_440000;
