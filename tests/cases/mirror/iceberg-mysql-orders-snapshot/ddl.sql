CREATE SCHEMA ice_orders;
CREATE TABLE ice_orders.orders (order_number int PRIMARY KEY, order_date date NOT NULL, purchaser int NOT NULL, quantity int NOT NULL, product_id int NOT NULL);
