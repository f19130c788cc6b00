"""converge.util"""
