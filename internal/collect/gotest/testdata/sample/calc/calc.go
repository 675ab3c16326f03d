// Package calc is a throwaway package used to generate go test output fixtures.
package calc

// Add returns a+b.
func Add(a, b int) int { return a + b }
