CREATE SCHEMA pgsrc_products_exclude;
CREATE TABLE pgsrc_products_exclude.products (id int PRIMARY KEY, name text, description text, weight double precision);
