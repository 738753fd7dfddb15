"""Sweeps and named studies: grid -> points -> tasks -> engine (process pool | Ray) ->
cached outcomes -> tables, Pareto fronts, plots and a written answer.

Studies call only the library API (`meshc.driver.compile_model`); Ray is imported only in
`meshc.studies.engine`.
"""
