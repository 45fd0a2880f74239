//go:build race

package store_test

// raceEnabled is true when the tests run with the race detector, which
// makes modernc SQLite writes tens of times slower: the large seeds shrink.
const raceEnabled = true
