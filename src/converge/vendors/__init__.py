"""converge.vendors"""
