-- The id of the next load (one per unit: a file, or the files a query reads).
select nextval('load_id_seq') as load_id;
