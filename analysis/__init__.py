"""Analysis shared by the probes, the audit and the synthetic world: months and their arithmetic
(`analysis.months`), the effective-cutoff curve (`analysis.cutoff`), the audit's cutoff predictor
(`analysis.predict`), its sample, bins and reference figures, and the plots and HTML report.

Everything here is pure Python over small tables (NumPy, Arrow, matplotlib, Jinja2): no Spark, no torch, and
nothing of this repository but `corpus`, so every package above may import it.
"""
