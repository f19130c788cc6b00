"""converge.render"""
