# The minimal variant freezes nothing.
