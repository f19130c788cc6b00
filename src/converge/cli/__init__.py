"""converge.cli"""
