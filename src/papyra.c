/* placeholder: replaced by the module implementation */
int main(void) { return 0; }
