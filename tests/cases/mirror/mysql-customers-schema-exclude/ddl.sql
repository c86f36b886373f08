CREATE SCHEMA my_customers_exclude;
CREATE TABLE my_customers_exclude.customers (id int PRIMARY KEY, first_name text, last_name text, email text);
