"""Reports: tables of figures and lists, and the files (CSV, XLSX) they are handed over in."""
