// qstrs used by the port that the scanner cannot see in the C sources.
// *FORMAT-OFF*
Q(/lib)
