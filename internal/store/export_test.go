package store

// UseGeneralAttach makes db attach packages through the general path only,
// never PostgreSQL's one-statement attachStatement (for the conformance
// test that holds both to the same results).
func (db *DB) UseGeneralAttach() { db.oneAttachPath = true }
