// Package schemas holds evident's published JSON Schemas (draft 2020-12):
// the release manifest and the residual-anomaly list. They are the contract
// for anyone who reads or writes these documents without evident; tests keep
// them in agreement with the Go types and readers.
package schemas

import (
	_ "embed" // for go:embed
)

// Schema ids ($id), under which a JSON Schema compiler should register the
// documents returned below.
const (
	ManifestID  = "https://evident.dev/schemas/manifest.v1.schema.json"
	AnomaliesID = "https://evident.dev/schemas/anomalies.v1.schema.json"
)

//go:embed manifest.v1.schema.json
var manifest string

//go:embed anomalies.v1.schema.json
var anomalies string

// Manifest returns the JSON Schema of the release manifest
// (manifest.v1.schema.json). Each call returns a fresh copy.
func Manifest() []byte { return []byte(manifest) }

// Anomalies returns the JSON Schema of an anomaly list
// (anomalies.v1.schema.json). Each call returns a fresh copy.
func Anomalies() []byte { return []byte(anomalies) }
