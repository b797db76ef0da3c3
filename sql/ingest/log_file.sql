-- One row of ingest_log per unit seen: loaded, skipped as already loaded, or empty.
insert into ingest_log (
    load_id, source, file_name, content_hash, size_bytes, status, note, rows_read, rows_loaded,
    rows_quarantined, rows_filtered, keys_loaded, keys_replaced, loaded_at, run_id, modified_at
)
values (
    $load_id, $kind, $file, $hash, $size, $status, $note, $read, $loaded, $quarantined,
    $filtered, $keys, $replaced, $now, $run_id, $modified_at
);
