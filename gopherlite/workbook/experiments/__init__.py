"""The chapters' measured experiments: small trainings that a notebook runs and then draws.

- `variants`: the shared data of the chapters' runs, model variants trained side by side,
  context extrapolation, RMSNorm against LayerNorm;
- `precision_study`: the five precision policies on the same batches (chapter 06);
- `layout_runs`: the same steps on one device and under several meshes and layouts (chapter 07);
- the numbers behind the chapters' figures, which `viz` draws:
  `architecture` (00), `tokenization` (02), `relative_attention` (04), `norms` (05),
  `scaling` (08), and `curves` (moving averages, loss curves side by side).
"""
