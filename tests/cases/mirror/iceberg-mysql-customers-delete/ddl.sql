CREATE SCHEMA ice_customers;
CREATE TABLE ice_customers.customers (id int PRIMARY KEY, first_name text, last_name text, email text);
INSERT INTO ice_customers.customers VALUES
    (1003, 'Edward', 'Walker', 'ed@walker.com'),
    (1004, 'Anne', 'Kretchmar', 'annek@noanswer.org');
