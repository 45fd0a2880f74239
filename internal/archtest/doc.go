// Package archtest holds tests of the code's shape rather than its
// behaviour: how long functions may be and which packages may import
// which (docs/architecture.md). It has no code of its own.
package archtest
