CREATE SCHEMA pgsrc_products_include;
CREATE TABLE pgsrc_products_include.products (id int PRIMARY KEY, name text, description text, weight double precision);
