// Package modeltest holds the model-based test of the whole svahub
// lifecycle: a rapid state machine drives the real API, store, River
// workers and Qualifica adapter against the strict simulator and compares
// what it sees with an independent reference model (model_test.go) written
// from spec/DOMAIN.md alone. See README's Testing section.
package modeltest
