CREATE SCHEMA my_products_exclude;
CREATE TABLE my_products_exclude.products (id int PRIMARY KEY, name text, description text, weight double precision);
