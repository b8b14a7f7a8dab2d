\set lo random(0, 99000)
\set w random(1, 50000)
\set hi :lo + :w
\set first (:lo + 999) / 1000
\set last (:hi + 1) / 1000 - 1
\set e1 :first * 1000 - 1
\set e2 (:last + 1) * 1000
SELECT count(*), sum(price) FROM part WHERE is_visible AND upper(json_data->>'color') = 'ЧЕРНЫЙ' AND price BETWEEN :lo AND :hi;
