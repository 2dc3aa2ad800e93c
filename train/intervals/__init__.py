"""How sure a prediction is: split-conformal intervals (conformal), their calibration on a cache (calibration),
interval files (files) and their report (report)."""
