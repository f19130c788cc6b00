"""converge.policies"""
