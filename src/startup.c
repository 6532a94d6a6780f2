/* placeholder: replaced by the module implementation */
typedef int papyra_placeholder_startup;
