"""converge.ops"""
