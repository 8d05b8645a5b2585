"""Evaluate: metrics of run folders on held-out data, run with the runtime (no TensorFlow).

`classify` (test-split metrics, `evaluate_run`), `threshold` (operating points chosen on
validation), `speaker` (verification EER / minDCF), `stream` (false accepts per hour on streams).
Nothing is imported here: `stream` must load on the Raspberry Pi install, which lacks scikit-learn
and audiomentations.
"""
