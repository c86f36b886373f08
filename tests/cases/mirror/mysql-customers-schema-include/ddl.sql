CREATE SCHEMA my_customers_include;
CREATE TABLE my_customers_include.customers (id int PRIMARY KEY, first_name text, last_name text, email text);
