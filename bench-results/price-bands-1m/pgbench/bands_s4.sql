\set lo random(0, 99000)
\set w random(1, 50000)
\set hi :lo + :w
\set first (:lo + 999) / 1000
\set last (:hi + 1) / 1000 - 1
\set e1 :first * 1000 - 1
\set e2 (:last + 1) * 1000
SELECT b.c + e.c, b.s + e.s FROM (SELECT coalesce(sum(parts),0) c, coalesce(sum(price_sum),0) s FROM part_price_bands WHERE mark_id = ANY('{2}') AND model_id = ANY('{2}') AND band BETWEEN :first AND :last) b, (SELECT count(*) c, coalesce(sum(price),0) s FROM (SELECT price FROM part WHERE is_visible AND mark_id = ANY('{2}') AND model_id = ANY('{2}') AND price BETWEEN :lo AND :e1 UNION ALL SELECT price FROM part WHERE is_visible AND mark_id = ANY('{2}') AND model_id = ANY('{2}') AND price BETWEEN :e2 AND :hi) u) e;
