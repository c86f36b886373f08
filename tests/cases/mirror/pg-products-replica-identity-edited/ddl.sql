CREATE SCHEMA pgsrc_products_ri;
CREATE TABLE pgsrc_products_ri.products (id int PRIMARY KEY, name text, description text, weight double precision);
