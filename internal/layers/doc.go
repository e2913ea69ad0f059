// Package layers holds the import table of DESIGN.md and the test that
// enforces it: a package may import only packages of a lower layer (or, within
// its own layer, its own parent package, as nn/optim uses nn). A package that
// is not in the table fails the test too, so a new package must be placed.
package layers
