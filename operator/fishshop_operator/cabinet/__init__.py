"""A shop's hot cabinet as the operator sees it: spec, credentials Secret, Redis's ping."""
