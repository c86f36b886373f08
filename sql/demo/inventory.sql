-- Target tables of the demo: the mirror of Debezium's inventory example
-- database. Only the source's columns; Sluice adds its _sluice_pos column.
CREATE SCHEMA IF NOT EXISTS inventory;

CREATE TABLE IF NOT EXISTS inventory.products (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    description text,
    weight      double precision
);

CREATE TABLE IF NOT EXISTS inventory.customers (
    id         integer PRIMARY KEY,
    first_name text NOT NULL,
    last_name  text NOT NULL,
    email      text NOT NULL
);
