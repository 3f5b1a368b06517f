"""Reading the books: statements, report rows, invariant checks, the beancount export."""
