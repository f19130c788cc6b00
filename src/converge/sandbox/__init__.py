"""converge.sandbox"""
