"""Synthetic galaxies in Kaggle's layout, with crowd-vote labels and the best possible prediction."""

# Which generator drew a set, stamped on every benchmark's results: renamed whenever a change to synth/ moves the
# figures (docs/experiments.md tells the generators apart; "SDSS look" is the one whose cutouts match SDSS's sky,
# PSF, stretch and JPEG settings, measured by `make framing`; "survey looks" adds DECaLS's look (synth.looks),
# colour-keeping stretches, knotted arms and inner and outer rings; "Hubble sequence" gives each disk a stage that
# sets its colour, bulge, arms and knots, and puts rings on early disks as they are in the sky)
GENERATOR = "Hubble sequence"
