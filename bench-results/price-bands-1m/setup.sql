-- A throwaway database of 1 000 000 parts drawn like `seed_parts` (5 marks with one model each, the 15 names,
-- colours, is_new_part and count each present in about half the parts, prices 0-100 000, 90 % visible), the
-- two indexes the price totals use, and part_totals / part_price_bands as migrations 0004-0006 fill them.
-- Run as a superuser: psql -v ON_ERROR_STOP=1 -f setup.sql (creates and fills the database "exp").
DROP DATABASE IF EXISTS exp;
CREATE DATABASE exp;
\c exp
CREATE TABLE part (id bigserial primary key, mark_id bigint, model_id bigint, name varchar(200), json_data jsonb, price int, is_visible bool);
INSERT INTO part (mark_id, model_id, name, json_data, price, is_visible)
SELECT m, m, (ARRAY['Бампер передний','Бампер задний','Фара левая','Фара правая','Капот','Крыло переднее левое','Зеркало боковое','Радиатор','Тормозной диск','Лобовое стекло','Brake pad','Oil filter','Air filter','Spark plug','Timing belt'])[1 + floor(random()*15)::int],
  jsonb_strip_nulls(jsonb_build_object(
     'color', CASE WHEN random() < 0.5 THEN (ARRAY['черный','белый','красный','синий','серебристый','зеленый','Black','White'])[1+floor(random()*8)::int] END,
     'is_new_part', CASE WHEN random() < 0.5 THEN random() < 0.5 END,
     'count', CASE WHEN random() < 0.5 THEN floor(random()*50)::int END)),
  floor(random()*100001)::int, random() < 0.9
FROM (SELECT 1 + floor(random()*5)::bigint AS m FROM generate_series(1, 1000000)) s;
CREATE INDEX part_group_price_idx ON part (mark_id, model_id, name, upper(json_data->>'color'), (json_data->'is_new_part'), price) WHERE is_visible;
CREATE INDEX part_price_idx ON part (price) INCLUDE (mark_id, model_id) WHERE is_visible;
CREATE TABLE part_totals AS SELECT mark_id, model_id, name, upper(json_data->>'color') color_key, json_data->'is_new_part' is_new_part, count(*) parts, sum(price)::bigint price_sum FROM part WHERE is_visible GROUP BY 1,2,3,4,5;
CREATE TABLE part_price_bands AS SELECT mark_id, model_id, name, upper(json_data->>'color') color_key, json_data->'is_new_part' is_new_part, price/1000 band, count(*) parts, sum(price)::bigint price_sum FROM part WHERE is_visible GROUP BY 1,2,3,4,5,6;
CREATE UNIQUE INDEX ON part_price_bands (mark_id, model_id, name, color_key, is_new_part, band)
    INCLUDE (parts, price_sum) NULLS NOT DISTINCT;
CREATE INDEX ON part_price_bands (band) INCLUDE (parts, price_sum, color_key, is_new_part);
VACUUM ANALYZE;
