"""Evidence reports built from the as-run log: figures by SQL aggregation, one writer per
format (docx, xlsx, csv, json, pdf), the evidence pack and the iCalendar export."""
