CREATE SCHEMA my_products_include;
CREATE TABLE my_products_include.products (id int PRIMARY KEY, name text, description text, weight double precision);
