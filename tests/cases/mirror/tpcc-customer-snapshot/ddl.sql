CREATE SCHEMA tpcc;
CREATE TABLE tpcc.customer (
    c_id int, c_d_id int, c_w_id int,
    c_first varchar(16), c_middle varchar(2), c_last varchar(16),
    c_street_1 text, c_street_2 text, c_city text,
    c_state varchar(2), c_zip varchar(9), c_phone text, c_since varchar(30),
    c_credit varchar(2), c_credit_lim real, c_discount real, c_balance real,
    c_ytd_payment real, c_payment_cnt int, c_delivery_cnt int,
    c_data1 text, c_data2 text,
    PRIMARY KEY (c_w_id, c_d_id, c_id));
