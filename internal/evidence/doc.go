// Package evidence is evident's domain: the release manifest and everything it
// records (components, artifacts, provenance, evidence references with their
// summaries, anomalies, policy results), the records derived from evidence
// files (SOUP entries, anomaly records), validation, the canonical byte form
// that is signed, and the error kinds every layer classifies failures by.
//
// The package does no I/O beyond encoding to and decoding from readers and
// writers handed to it, and imports nothing of evident but digest.
package evidence
